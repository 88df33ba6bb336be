// Package sharedsql holds the statement texts that the SQLite and
// PostgreSQL engines run word for word, and the builders of texts that
// differ only in fragments each engine supplies. An engine's package
// starts from these and writes the rest in its own SQL;
// storagetest.CheckStatements checks that nothing is left empty. Texts
// use ? placeholders, which the PostgreSQL engine rebinds.
package sharedsql
