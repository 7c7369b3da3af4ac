namespace Ckpt.Cli;

/// <summary>
/// "Did you mean": the known name nearest a mistyped one, by optimal-string-alignment distance (an edit is an
/// insertion, deletion, substitution or swap of two neighbours, so `inpsect` is one edit from `inspect`).
/// </summary>
static class Suggestions
{
    /// <summary>The nearest candidate within two edits (one for names of four characters or fewer), or null.</summary>
    public static string? Nearest(string typed, IEnumerable<string> candidates)
    {
        int limit = typed.TrimStart('-').Length <= 4 ? 1 : 2;
        return candidates.Distinct(StringComparer.Ordinal)
            .Select(c => (Name: c, Distance: Distance(typed, c)))
            .Where(c => c.Distance <= limit)
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => c.Name).FirstOrDefault();
    }

    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
