-- pages.attachments: the page's documents, [{"media": ID, "title": ...}],
-- each an uploaded PDF of the municipality (the core's media table; what a
-- page uses is in links, to_module 'media').  JSON as the client wrote it;
-- NULL when the page has none.
ALTER TABLE pages ADD COLUMN attachments LONGTEXT NULL
  CHECK (attachments IS NULL OR JSON_VALID(attachments)) AFTER status;
