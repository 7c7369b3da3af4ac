namespace Ckpt.Cli;

/// <summary>
/// `ckpt`, `ckpt --help`: every command of the tree (subcommands as `bench load`), one line each, the first sentence
/// of its description. Written from the command tree itself, so a new verb appears without anyone editing this.
/// </summary>
static class RootHelp
{
    public static void Write(RootCommand root, TextWriter o)
    {
        var rows = Commands(root, "").ToList();
        int width = rows.Max(r => r.Name.Length) + 2;
        o.WriteLine("ckpt: open, inspect, convert, reshard, merge, fine-tune and benchmark PyTorch-family checkpoints.");
        o.WriteLine();
        o.WriteLine("Usage: ckpt <command> [options]      ckpt <command> --help for its options");
        o.WriteLine();
        o.WriteLine("Commands:");
        foreach (var (name, summary) in rows) o.WriteLine($"  {name.PadRight(width)}{summary}");
        o.WriteLine();
        o.WriteLine("Errors are one line on stderr with exit code 2. Sizes are decimal (1 MB = 1,000,000 bytes).");
    }

    /// <summary>Every command that runs something, depth first; a group (`bench`) is listed through its subcommands.</summary>
    public static IEnumerable<(string Name, string Summary)> Commands(Command parent, string prefix)
    {
        foreach (var c in parent.Subcommands.Where(c => !c.Hidden))
        {
            var name = prefix + c.Name;
            if (c.Subcommands.Count > 0)
                foreach (var row in Commands(c, name + " ")) yield return row;
            else
                yield return (name, FirstSentence(c.Description ?? ""));
        }
    }

    /// <summary>Up to the first ". ", "; " or ": " outside parentheses (a description's headline), without a trailing full stop.</summary>
    static string FirstSentence(string description)
    {
        int depth = 0;
        for (int i = 0; i + 1 < description.Length; i++)
        {
            char c = description[i];
            if (c == '(') depth++;
            else if (c == ')') depth = Math.Max(0, depth - 1);
            else if (depth == 0 && c is '.' or ';' or ':' && description[i + 1] == ' ') return description[..i];
        }
        return description.TrimEnd('.');
    }
}
