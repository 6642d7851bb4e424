"""DSFinV-K: the official table catalogue (``schema``) and the CSV format of the export (``csv_format``)."""
