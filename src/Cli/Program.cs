using System.CommandLine;
using Ckpt.Cli.Commands;
using Ckpt.Errors;

namespace Ckpt.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Every verb's command, as `ckpt --help` lists them; the surface parity test walks it.</summary>
    public static RootCommand Root(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("ckpt: open, inspect, convert and benchmark PyTorch-family checkpoints (safetensors, HF sharded indexes, torch.save, PyTorch DCP, Megatron-LM, DeepSpeed ZeRO/UCP, ByteCheckpoint).");
        root.Subcommands.Add(InspectCommand.Create(stdout));
        root.Subcommands.Add(ConvertCommand.Create(stdout));
        root.Subcommands.Add(BenchCommand.Create(stdout));
        root.Subcommands.Add(MergeCommand.Create(stdout));
        root.Subcommands.Add(ReshardCommand.Create(stdout));
        root.Subcommands.Add(ForwardCommand.Create(stdout));
        root.Subcommands.Add(GenerateCommand.Create(stdout));
        root.Subcommands.Add(LayoutCommand.Create(stdout));
        root.Subcommands.Add(DiffCommand.Create(stdout));
        root.Subcommands.Add(FinetuneCommand.Create(stdout, stderr));
        root.Subcommands.Add(LcscCommand.Create(stdout));
        root.Subcommands.Add(SmoothInvCommand.Create(stdout));
        return root;
    }

    /// <summary>Runs the CLI with the given writers; tests call this in-process.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Root(stdout, stderr);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            var parsed = root.Parse(args);
            // A value the parser cannot read (`--steps ten`, an unknown option) is bad input like any other: one line
            // and exit code 2, not the usage text and 1. A bare `ckpt` still shows the usage.
            if (parsed.Errors.Count > 0 && args.Length > 0)
            {
                stderr.WriteLine($"ckpt: {ControlCharacters.Escape(string.Join(" ", parsed.Errors.Select(e => e.Message).Distinct()))}");
                return 2;
            }
            return parsed.Invoke(config);
        }
        catch (Exception e)
        {
            return Failure.Report(e, args.FirstOrDefault(a => !a.StartsWith('-')) ?? "", stderr);
        }
    }
}
