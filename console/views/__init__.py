"""Console views, one module per page; `common` holds what they share (error mapping, staff check)."""
