"""DSFinV-K master data: cash registers, VAT definitions, revisions (services, API, pages)."""
