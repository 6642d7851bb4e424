"""Billing: pricing, the monthly run, invoices and their documents, usage."""
