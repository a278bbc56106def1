"""Berth's processor SDK: the EAS `allspark` API (BaseProcessor, default_properties) on the standard library."""

from .config import Properties, default_properties
from .processor import BaseProcessor

__version__ = "0.1.0"
__all__ = ["BaseProcessor", "Properties", "default_properties"]
