"""Analytics: zones, line crossing, overcrowding, direction of travel, dwell time and queue length."""

from __future__ import annotations

from vistream.elements.analytics.analyzer import StreamAnalyzer
from vistream.elements.analytics.config import AnalyticsConfig
from vistream.elements.analytics.crowding import Overcrowding
from vistream.elements.analytics.direction import DirectionDetection
from vistream.elements.analytics.dwell import DwellTime
from vistream.elements.analytics.lines import LineCrossing
from vistream.elements.analytics.roi import Zone

__all__ = ["AnalyticsConfig", "DirectionDetection", "DwellTime", "LineCrossing", "Overcrowding",
           "StreamAnalyzer", "Zone"]
