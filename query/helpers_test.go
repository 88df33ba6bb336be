package query

import (
	"encoding/base64"
	"strconv"

	sq "github.com/Masterminds/squirrel"
)

func sqSelect() sq.SelectBuilder {
	return sq.Select("r.id").From("resources r").PlaceholderFormat(sq.Question)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
