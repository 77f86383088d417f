-- An agreement's signed document: an uploaded PDF (an id of the core's
-- `media`), beside the external document_url of before uploads.
ALTER TABLE partnership_agreements ADD COLUMN document BIGINT UNSIGNED NULL AFTER document_url;
