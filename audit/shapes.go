package audit

import "github.com/weightaudit/weightaudit/arch"

// shapeFindings turns the problems of a shape walk into findings of check
// id.
func shapeFindings(id string, ps []arch.Problem) []Finding {
	out := make([]Finding, 0, len(ps))
	for _, p := range ps {
		f := Finding{Check: id, Message: p.Message}
		if p.Tensor != nil {
			f.Tensor, f.File = p.Tensor.Name, p.Tensor.File
		}
		out = append(out, f)
	}
	return out
}
