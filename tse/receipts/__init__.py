"""Receipt data for the TSE: DSFinV-K processData and the receipt QR code ("V0").

Pure Python, no Django models:

* :mod:`tse.receipts.process_data` turns a fiskaly-style ``schema.standard_v1`` receipt / order /
  other payload into the DSFinV-K processType + processData that is sent to FinishTransaction;
* :mod:`tse.receipts.qr_code` builds, parses, verifies and renders the DSFinV-K Annex I QR code.
"""
