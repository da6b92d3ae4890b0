package arch

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary writes a table of the network's layers (output shape, parameters,
// forward FLOPs per image) and the totals, like torchsummary.
func (n *Network) Summary(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "layer\ttype\toutput\tparams\tFLOPs")
	var params, trainable int
	var flops int64
	for _, r := range n.Rows {
		name := r.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", strings.Repeat("  ", r.Depth), name, r.Type, dims(r.Out),
			count(int64(r.Params)), count(r.FLOPs))
		params += r.Params
		trainable += r.Trainable
		flops += r.FLOPs
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "total: %s values in the state_dict (%s trained), %s FLOPs per image forward\n",
		group(int64(params)), group(int64(trainable)), count(flops))
	return err
}

// count writes 0 as "-" and large numbers with an SI suffix.
func count(v int64) string {
	switch {
	case v == 0:
		return "-"
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", float64(v)/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", float64(v)/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", float64(v)/1e3)
	}
	return fmt.Sprint(v)
}

// group writes 11173962 as 11,173,962.
func group(v int64) string {
	s := fmt.Sprint(v)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
