using System.CommandLine.Parsing;
using Ckpt.Cli.Commands;
using Ckpt.Errors;

namespace Ckpt.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error, Terminal.OfConsole());

    /// <summary>Every verb's command, as `ckpt --help` lists them; the surface parity test walks it.</summary>
    public static RootCommand Root(TextWriter stdout, TextWriter stderr, Terminal? terminal = null)
    {
        var root = new RootCommand("ckpt: open, inspect, convert and benchmark PyTorch-family checkpoints (safetensors, HF sharded indexes, torch.save, PyTorch DCP, Megatron-LM, DeepSpeed ZeRO/UCP, ByteCheckpoint).");
        root.Subcommands.Add(InspectCommand.Create(stdout));
        root.Subcommands.Add(ConvertCommand.Create(stdout, terminal));
        root.Subcommands.Add(BenchCommand.Create(stdout, terminal));
        root.Subcommands.Add(MergeCommand.Create(stdout, terminal));
        root.Subcommands.Add(ReshardCommand.Create(stdout, terminal));
        root.Subcommands.Add(FinalizeCommand.Create(stdout));
        root.Subcommands.Add(ForwardCommand.Create(stdout));
        root.Subcommands.Add(GenerateCommand.Create(stdout));
        root.Subcommands.Add(LayoutCommand.Create(stdout));
        root.Subcommands.Add(DiffCommand.Create(stdout));
        root.Subcommands.Add(FineTuningCommand.Create(stdout, stderr, terminal));
        root.Subcommands.Add(LcscCommand.Create(stdout));
        root.Subcommands.Add(RestorCommand.Create(stdout, stderr));
        root.Subcommands.Add(RestorToyCommand.Create(stdout, stderr));
        root.Subcommands.Add(SmoothInvCommand.Create(stdout));
        return root;
    }

    /// <summary>
    /// Runs the CLI with the given writers; tests call this in-process. <paramref name="terminal"/> is stdout's
    /// terminal, or null when it is redirected or piped (then no progress bar is drawn).
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Terminal? terminal = null)
    {
        var root = Root(stdout, stderr, terminal);
        if (args is [] or ["--help" or "-h" or "-?" or "help"])
        {
            RootHelp.Write(root, stdout);
            return 0;
        }
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            var parsed = root.Parse(args);
            // A value the parser cannot read (`--steps ten`, an unknown option) is bad input like any other: one line
            // and exit code 2, not the usage text and 1.
            if (parsed.Errors.Count > 0)
            {
                var sentence = Mistyped(root, parsed, args) ?? string.Join(" ", parsed.Errors.Select(e => e.Message).Distinct());
                stderr.WriteLine($"ckpt: {ControlCharacters.Escape(sentence)}");
                return 2;
            }
            return parsed.Invoke(config);
        }
        catch (Exception e)
        {
            return Failure.Report(e, args.FirstOrDefault(a => !a.StartsWith('-')) ?? "", stderr);
        }
    }

    /// <summary>
    /// One sentence for a mistyped command or option, with the nearest known name when one is close
    /// (`unknown command 'inpsect'; did you mean 'inspect'?`); null when the error is of another kind.
    /// </summary>
    static string? Mistyped(RootCommand root, ParseResult parsed, string[] args)
    {
        var command = parsed.CommandResult.Command;
        if (ReferenceEquals(command, root) && args[0] is var first && !first.StartsWith('-'))
        {
            var names = root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
            return Suggestions.Nearest(first, names) is { } near
                ? $"unknown command '{first}'; did you mean '{near}'?"
                : $"unknown command '{first}'; the commands are {string.Join(", ", names)} (ckpt --help says what each does).";
        }
        if (parsed.UnmatchedTokens.FirstOrDefault(t => t.StartsWith('-')) is { } option)
        {
            var chain = new List<Command>();
            for (SymbolResult? r = parsed.CommandResult; r is CommandResult c; r = c.Parent) chain.Insert(0, c.Command);
            var path = string.Join(" ", chain.Skip(1).Select(c => c.Name));
            var known = command.Options.Concat(chain.SkipLast(1).SelectMany(c => c.Options.Where(o => o.Recursive)))
                .SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal));
            return Suggestions.Nearest(option, known) is { } near
                ? $"unknown option '{option}' for {path}; did you mean '{near}'?"
                : $"unknown option '{option}' for {path} (ckpt {path} --help lists its options).";
        }
        if (command.Subcommands.Count > 0 && parsed.UnmatchedTokens.FirstOrDefault() is { } sub)
        {
            var names = command.Subcommands.Select(c => c.Name).ToList();
            return Suggestions.Nearest(sub, names) is { } near
                ? $"unknown command '{command.Name} {sub}'; did you mean '{command.Name} {near}'?"
                : $"unknown command '{command.Name} {sub}'; the {command.Name} commands are {string.Join(", ", names)}.";
        }
        return null;
    }
}
