package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/weightaudit/weightaudit/checkpoint"
	"github.com/weightaudit/weightaudit/internal/atomicfile"
)

func newDumpCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "dump SOURCE TENSOR -o FILE|-",
		Short: "Write one tensor dequantized to little-endian float32, in its stored element order",
		Args:  usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError(cmd, "-o FILE is required")
			}
			ck, _, err := load(cmd, args[:1], "", runtime.NumCPU())
			if err != nil {
				return err
			}
			var n int64
			dump := func(w io.Writer) error {
				n, err = checkpoint.DumpTensor(cmd.Context(), ck, args[1], w)
				return err
			}
			where := out
			if out == "-" {
				where = "stdout"
				err = dump(cmd.OutOrStdout())
			} else {
				err = atomicfile.WriteTarget(out, 0o644, dump)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d float32 values of %s to %s\n", n, args[1], where)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write (replaced atomically); - for stdout")
	return cmd
}
