"""Waterline: the 400-hotline and delivery platform of a barrelled-water business."""

__version__ = "0.1.0"
