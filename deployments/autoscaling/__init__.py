"""Autoscaling rules as a pure core: settings (policy), decisions (decide), schedules (cron).

No database, no Docker, no Django: the beat task that collects metrics, persists
`ScalerState` and applies a Decision lives elsewhere and calls into these modules.
"""
