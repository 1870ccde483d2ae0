package spotcheck_test

import "math"

// yarnInvFreq is modeling_rope_utils.py _compute_yarn_parameters in
// float64, written here from its definition: with corr(r) =
// d·ln(L/(2π·r)) / (2·ln θ), the ramp from corr(β_fast) to corr(β_slow)
// (floored and ceiled when truncate, clamped to [0, d − 1]),
// e_i = 1 − clamp((i − low)/(high − low), 0, 1), and inv_freq_i =
// θ^(−2i/d)/factor·(1 − e_i) + θ^(−2i/d)·e_i.
func yarnInvFreq(d int, theta, factor, orig, betaFast, betaSlow float64, truncate bool) []float64 {
	corr := func(r float64) float64 { return float64(d) * math.Log(orig/(2*math.Pi*r)) / (2 * math.Log(theta)) }
	low, high := corr(betaFast), corr(betaSlow)
	if truncate {
		low, high = math.Floor(low), math.Ceil(high)
	}
	low, high = math.Max(low, 0), math.Min(high, float64(d-1))
	if low == high {
		high += 0.001
	}
	out := make([]float64, d/2)
	for i := range out {
		base := math.Pow(theta, -float64(2*i)/float64(d))
		e := 1 - math.Min(math.Max((float64(i)-low)/(high-low), 0), 1)
		out[i] = base/factor*(1-e) + base*e
	}
	return out
}

// yarnMscale is get_mscale: 0.1·m·ln(s) + 1 above a scale of 1.
func yarnMscale(s, m float64) float64 {
	if s <= 1 {
		return 1
	}
	return 0.1*m*math.Log(s) + 1
}
