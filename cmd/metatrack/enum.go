package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// enumValue is the value of a flag with a fixed set of values (--kind,
// --format, --state, ...): any other value is refused while the flags are
// parsed, which makes it a usage error (exit status 2) whose message lists
// the values, instead of a filter that silently matches nothing.
type enumValue struct {
	p      *string
	values []string
	// upper accepts the values in any case and stores them upper-cased
	// (run states).
	upper bool
	// hints explain a value that is not one but looks like it should be
	// (--format svg: the picture is --svg FILE).
	hints map[string]string
}

// enumFlag defines the flag name on cmd with the default def, the given
// values, the usage text usage (the values are appended) and their shell
// completion.
func enumFlag(cmd *cobra.Command, p *string, name, def, usage string, values []string, opts ...func(*enumValue)) {
	v := &enumValue{p: p, values: values}
	for _, o := range opts {
		o(v)
	}
	*p = def
	cmd.Flags().Var(v, name, usage+": "+strings.Join(values, ", "))
	cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// enumUpper makes an enum flag accept its values in any case.
func enumUpper(v *enumValue) { v.upper = true }

// enumHints adds explanations for values that are not valid.
func enumHints(hints map[string]string) func(*enumValue) {
	return func(v *enumValue) { v.hints = hints }
}

func (v *enumValue) String() string { return *v.p }

// Type is what --help shows as the flag's argument.
func (v *enumValue) Type() string { return "string" }

// Set accepts one of the values; cobra prefixes the error with the flag.
func (v *enumValue) Set(s string) error {
	in := s
	if v.upper {
		in = strings.ToUpper(s)
	}
	for _, ok := range v.values {
		if in == ok {
			*v.p = in
			return nil
		}
	}
	if h, ok := v.hints[strings.ToLower(s)]; ok {
		return errors.New(h)
	}
	return fmt.Errorf("valid are %s", strings.Join(v.values, ", "))
}
