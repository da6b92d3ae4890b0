package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vkcnn/vkcnn/gpu"
)

func devicesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List the Vulkan devices and which one --device auto picks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			infos, err := gpu.Devices()
			if err != nil {
				return err
			}
			printDevices(cmd.OutOrStdout(), infos)
			return nil
		},
	}
}

func printDevices(w io.Writer, infos []gpu.Info) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tTYPE\tDRIVER\tAPI\tMEMORY\tSUBGROUP\tSHARED MEM\tMAX WORKGROUP")
	for _, in := range infos {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.1f GiB\t%d\t%d KiB\t%d\n",
			in.Index, in.Name, in.Type, in.Driver, in.APIVersion,
			float64(in.DeviceLocalMemory())/(1<<30), in.SubgroupSize, in.MaxSharedMemory>>10, in.MaxWorkgroupInvocations)
	}
	tw.Flush()
	fmt.Fprintln(w, autoChoice(infos))
}

// autoChoice says what --device auto does on this machine: a GPU if there is
// one, else the CPU reference, which trains faster than a CPU Vulkan driver.
func autoChoice(infos []gpu.Info) string {
	best := gpu.Best(infos)
	if best >= 0 && infos[best].Type.IsGPU() {
		return fmt.Sprintf("--device auto picks %d (%s)", best, infos[best].Name)
	}
	return "--device auto picks cpu (the gonum reference: no GPU here; name a Vulkan device's index to use it anyway)"
}
