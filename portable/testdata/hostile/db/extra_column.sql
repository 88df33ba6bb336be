-- A column metatrack does not create.
-- want: table tags
ALTER TABLE tags ADD COLUMN extra TEXT;
