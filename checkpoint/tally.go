package checkpoint

import "sort"

// Tallies are the sums an inventory's summary shows: per layer, per dtype
// and in all.
type Tallies struct {
	Layers []LayerTally // as [Inventory.Layers]
	DTypes []DTypeTally // as [Inventory.DTypes]
	Totals Totals       // as [Inventory.Totals]
}

// Tallies sums the checkpoint's tensors per layer, per dtype and in all,
// as [Checkpoint.Inventory]'s methods do, from the parsed headers: a
// report that shows only the sums (inspect's table) need not build the
// inventory, an entry per tensor (4.7 MB for the 235B layout's 36,945).
func (ck *Checkpoint) Tallies() Tallies {
	layers := map[int]*tally{}
	dtypes := map[string]*tally{}
	totals := Totals{Files: len(ck.Files)}
	// Tensors come in runs of one layer and one dtype: each run looks its
	// tallies up once.
	var (
		layer, lastLayer = (*tally)(nil), 0
		dtype, lastDType = (*tally)(nil), ""
	)
	add := func(name, dt string, params, bytes int64) {
		if l := LayerOf(name); layer == nil || l != lastLayer {
			layer, lastLayer = at(layers, l), l
		}
		if dtype == nil || dt != lastDType {
			dtype, lastDType = at(dtypes, dt), dt
		}
		layer.add(params, bytes)
		dtype.add(params, bytes)
		totals.Tensors++
		totals.Params += params
		totals.Bytes += bytes
	}
	switch ck.Format {
	case FormatSafetensors:
		for _, fe := range ck.Files {
			f := ck.ShardOf(fe)
			for i := range f.Tensors {
				t := &f.Tensors[i]
				add(t.Name, t.DType.String(), t.Elements(), t.Bytes())
			}
		}
	case FormatGGUF:
		for _, p := range ck.GGUF {
			for i := range p.Tensors {
				t := &p.Tensors[i]
				add(t.Name, t.Type.String(), t.Elements(), t.Size)
			}
		}
	}
	for _, f := range ck.Files {
		totals.FileBytes += f.Size
		totals.HeaderBytes += f.HeaderBytes
	}
	return Tallies{Layers: layerTallies(layers), DTypes: dtypeTallies(dtypes), Totals: totals}
}

// at returns k's tally in m, adding it.
func at[K comparable](m map[K]*tally, k K) *tally {
	a := m[k]
	if a == nil {
		a = new(tally)
		m[k] = a
	}
	return a
}

// layerTallies lists m sorted by layer, -1 first.
func layerTallies(m map[int]*tally) []LayerTally {
	var out []LayerTally
	for l, t := range m {
		out = append(out, LayerTally{Layer: l, Tensors: t.tensors, Params: t.params, Bytes: t.bytes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Layer < out[j].Layer })
	return out
}

// dtypeTallies lists m largest byte count first, ties by name.
func dtypeTallies(m map[string]*tally) []DTypeTally {
	var out []DTypeTally
	for d, t := range m {
		out = append(out, DTypeTally{DType: d, Tensors: t.tensors, Params: t.params, Bytes: t.bytes})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].DType < out[j].DType
	})
	return out
}
