"""The lab's widgets, one per module."""
