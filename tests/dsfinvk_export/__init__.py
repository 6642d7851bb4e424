"""DSFinV-K export: rows, archive writer, golden export."""
