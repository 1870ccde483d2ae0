package htmlreport

import (
	"math"
	"strconv"
	"strings"
)

// ticks returns the tick marks of a linear or a log axis.
func ticks(log bool, lo, hi float64, f func(float64) string) []tick {
	if log {
		return logTicks(lo, hi, f)
	}
	return linearTicks(lo, hi, f, 0)
}

// linearTicks puts about five labelled ticks on 1-2-5 steps of at least
// minStep; it returns one tick at least.
func linearTicks(lo, hi float64, f func(float64) string, minStep float64) []tick {
	if !(hi > lo) {
		return []tick{{Value: lo, Label: f(lo)}}
	}
	span := hi - lo
	if math.IsInf(span, 0) {
		span = math.MaxFloat64
	}
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	step = max(step, minStep)
	if !(step > 0) || math.IsInf(step, 0) { // a span of a few denormals
		return []tick{{Value: lo, Label: f(lo)}, {Value: hi, Label: f(hi)}}
	}
	var ts []tick
	first := math.Ceil(lo / step)
	for k := 0.0; k < 50; k++ {
		v := (first + k) * step // not accumulated: no 0.6000000000000001
		if !(v <= hi+math.Abs(hi)*1e-9) || math.IsInf(v, 0) {
			break
		}
		ts = append(ts, tick{Value: v, Label: f(v)})
	}
	if len(ts) == 0 {
		return []tick{{Value: lo, Label: f(lo)}}
	}
	return ts
}

// logTicks labels the powers of two or of ten (or of a larger power of
// ten, for a range of many decades) between lo and hi, whichever gives at
// most eight labels.
func logTicks(lo, hi float64, f func(float64) string) []tick {
	var ts []tick
	for _, base := range []float64{2, 4, 10, 100, 1000, 1e6, 1e12, 1e24, 1e48, 1e96} {
		ts = ts[:0]
		for e := math.Ceil(math.Log(lo) / math.Log(base)); len(ts) < 64; e++ {
			v := math.Pow(base, e)
			if v > hi*(1+1e-9) || math.IsInf(v, 0) {
				break
			}
			ts = append(ts, tick{Value: v, Label: f(v)})
		}
		if len(ts) <= 8 {
			break
		}
	}
	return ts
}

// compact formats a number with a K/M/G/T suffix (powers of 1000), or of
// 1024 for powers of two from 1024 on (context lengths: 4K, 128K); beyond
// 1000T and below 0.01 it writes an exponent.
func compact(v float64) string {
	a := math.Abs(v)
	if a >= 1e15 || (a > 0 && a < 0.01) {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	if a >= 1024 && v == math.Trunc(v) && int64(a)&(int64(a)-1) == 0 {
		for _, u := range []struct {
			s string
			n float64
		}{{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
			if a >= u.n {
				return trim(v/u.n) + u.s
			}
		}
	}
	for _, u := range []struct {
		s string
		n float64
	}{{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}} {
		if a >= u.n {
			return trim(v/u.n) + u.s
		}
	}
	return trim(v)
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}
