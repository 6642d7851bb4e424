"""Tests of the DSFinV-K export validator (exports.dsfinvk.validator)."""
