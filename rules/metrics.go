package rules

import (
	"fmt"
	"time"
)

// MetricKey checks the key of a metric series: the rules of other keys,
// and no control characters (keys are printed in tables and charts).
func MetricKey(key string) error {
	if err := Text("metric key", key, MaxKeyBytes, false); err != nil {
		return err
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: metric key %q contains a control character", ErrInvalidArgument, key)
		}
	}
	return nil
}

// MetricPoint checks a point of series key: a step of at least 0 and a
// time (Unix milliseconds) not before 1970.
func MetricPoint(key string, step, timeMillis int64) error {
	if step < 0 {
		return fmt.Errorf("%w: metric %q: step %d is negative", ErrInvalidArgument, key, step)
	}
	if timeMillis < 0 {
		return fmt.Errorf("%w: metric %q: time %s is before 1970", ErrInvalidArgument, key,
			time.UnixMilli(timeMillis).UTC().Format(time.RFC3339Nano))
	}
	return nil
}
