using System.Text.RegularExpressions;

namespace Ckpt.Conversion;

/// <summary>Shell-style globs over tensor names: `*` within a dotted segment run, `**` across segments, `?` one character.</summary>
public sealed class TensorFilter
{
    readonly Regex[] _include;

    public TensorFilter(IEnumerable<string> globs)
    {
        _include = globs.Where(g => !string.IsNullOrWhiteSpace(g))
            .Select(g => new Regex("^" + Regex.Escape(g.Trim()).Replace(@"\*\*", ".*").Replace(@"\*", "[^.]*").Replace(@"\?", ".") + "$",
                RegexOptions.CultureInvariant))
            .ToArray();
    }

    public static readonly TensorFilter All = new([]);

    public bool Includes(string name) => _include.Length == 0 || _include.Any(r => r.IsMatch(name));
}
