"""Tests for the double_take integration."""
