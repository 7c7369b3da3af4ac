using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Ckpt.Formats.Text;

/// <summary>
/// Bounds a YAML text before a representation model is built from it. YamlDotNet's parser is a state machine,
/// but <c>YamlStream.Load</c> builds nodes recursively: 50,000 nested `[` or `- ` overflow the stack, which kills
/// the process (no exception to catch). So the text is first scanned as events with a depth counter.
/// Syntax errors are left to the real load, which reports them with their line.
/// </summary>
public static class YamlLimits
{
    /// <summary>A mergekit config nests 4-6 levels (slices, sources, parameters, filters).</summary>
    public const int MaxDepth = 64;
    public const int MaxChars = 4 << 20;

    public static void Check(string yaml, string? file, FormatErrorReason reason)
    {
        if (yaml.Length > MaxChars)
            throw new CheckpointFormatException(reason, file, null, "the YAML text is larger than a configuration needs",
                expected: $"≤ {MaxChars} characters", found: $"{yaml.Length} characters");
        var parser = new Parser(new StringReader(yaml));
        int depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case MappingStart or SequenceStart when ++depth > MaxDepth:
                        throw new CheckpointFormatException(reason, file, null,
                            $"the YAML nests deeper than {MaxDepth} levels at line {parser.Current.Start.Line}",
                            expected: $"≤ {MaxDepth} levels", found: "more");
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                }
            }
        }
        catch (YamlException) { /* the load that follows reports it with its position */ }
    }
}
