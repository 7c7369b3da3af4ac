using System.Text.RegularExpressions;

namespace Ckpt.Resharding;

/// <summary>How a tensor is laid out along one mesh dimension (DTensor's placements).</summary>
public abstract record Placement
{
    /// <summary>Parses `Shard(0),Replicate()` (also `S(0)`, `R`), one placement per mesh dimension.</summary>
    public static IReadOnlyList<Placement> ParseList(string text)
    {
        var list = new List<Placement>();
        foreach (var token in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var compact = Regex.Replace(token, @"\s", "");
            if (Regex.Match(compact, @"^(?:Shard|S)\((\d+)\)$", RegexOptions.IgnoreCase) is { Success: true } m)
                list.Add(new Shard(int.Parse(m.Groups[1].Value)));
            else if (Regex.IsMatch(compact, @"^(?:Replicate|R)(?:\(\))?$", RegexOptions.IgnoreCase))
                list.Add(new Replicate());
            else
                throw new FormatException($"'{token}' in \"{text}\" is not a placement (Shard(dim) or Replicate())");
        }
        return list;
    }
}

/// <summary>Split tensor dimension <see cref="Dim"/> across the mesh dimension, as torch.chunk does.</summary>
public sealed record Shard(int Dim) : Placement
{
    public override string ToString() => $"Shard({Dim})";
}

/// <summary>Every rank along the mesh dimension holds the whole (current) extent.</summary>
public sealed record Replicate : Placement
{
    public override string ToString() => "Replicate()";
}
