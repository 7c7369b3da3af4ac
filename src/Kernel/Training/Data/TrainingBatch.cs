namespace Ckpt.Training.Data;

/// <summary>
/// Right-padded rows of prompt+completion ids with their attention mask (1 = real token) and labels (the id on
/// completion tokens, −100 on prompt and padding). For DPO the chosen rows come first, then the rejected rows.
/// Packed SFT rows (<see cref="Packed"/>) hold several whole examples each; see there.
/// </summary>
public sealed class TrainingBatch : IDisposable
{
    public required Tensor Ids { get; init; }
    public required Tensor Labels { get; init; }
    /// <summary>Null when no row is padded. Packed rows number their examples 1, 2, … (0 = padding).</summary>
    public Tensor? AttentionMask { get; init; }
    /// <summary>Packed rows only: each token's position within its own example (0 at every example's first token).</summary>
    public Tensor? PositionIds { get; init; }
    /// <summary>Real (non-padding) tokens in the batch: what tokens/s counts.</summary>
    public long Tokens { get; init; }
    /// <summary>Tokens the SFT loss counts: completion tokens after the first position (labels are shifted by one).</summary>
    public long CompletionTokens { get; init; }
    /// <summary>Examples in the batch: SFT examples (rows, unless packed), or DPO pairs (half the rows).</summary>
    public int Examples { get; init; }

    public static TrainingBatch Sft(IReadOnlyList<SftExample> examples, int padId, Device device) =>
        Build(examples.Select(e => (e.Prompt, e.Completion)).ToList(), padId, device, examples.Count);

    public static TrainingBatch Preferences(IReadOnlyList<PreferenceExample> examples, int padId, Device device) =>
        Build(examples.Select(e => (e.Prompt, e.Chosen)).Concat(examples.Select(e => (e.Prompt, e.Rejected))).ToList(), padId, device, examples.Count);

    /// <summary>
    /// Rows that each hold whole examples one after another (TRL's packing), right-padded to the longest row. Exact: the
    /// attention mask numbers each row's examples so that a token attends only to its own example, positions restart
    /// at 0 for every example, and each example's first token is unlabelled (no example predicts the next one's start),
    /// so every counted token has the loss it has in an unpacked batch and <see cref="CompletionTokens"/> is the same.
    /// </summary>
    public static TrainingBatch Packed(IReadOnlyList<IReadOnlyList<SftExample>> rows, int padId, Device device)
    {
        int width = rows.Max(r => r.Sum(e => e.Prompt.Length + e.Completion.Length));
        var ids = new long[rows.Count * width];
        var labels = new long[rows.Count * width];
        var example = new long[rows.Count * width];
        var positions = new long[rows.Count * width];
        Array.Fill(ids, padId);
        Array.Fill(labels, SftLoss.IgnoreIndex);
        long tokens = 0, completionTokens = 0;
        int examples = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            int at = i * width, number = 0;
            foreach (var (prompt, completion) in rows[i])
            {
                int p = prompt.Length, n = p + completion.Length;
                number++;
                for (int j = 0; j < n; j++)
                {
                    long id = j < p ? prompt[j] : completion[j - p];
                    ids[at + j] = id;
                    labels[at + j] = j >= p && j > 0 ? id : SftLoss.IgnoreIndex;
                    example[at + j] = number;
                    positions[at + j] = j;
                }
                at += n;
                tokens += n;
                completionTokens += n - Math.Max(p, 1);
            }
            examples += number;
        }
        return new TrainingBatch
        {
            Ids = OnDevice(ids, rows.Count, width, device),
            Labels = OnDevice(labels, rows.Count, width, device),
            AttentionMask = OnDevice(example, rows.Count, width, device),
            PositionIds = OnDevice(positions, rows.Count, width, device),
            Tokens = tokens,
            CompletionTokens = completionTokens,
            Examples = examples,
        };
    }

    static TrainingBatch Build(IReadOnlyList<(int[] Prompt, int[] Completion)> rows, int padId, Device device, int examples)
    {
        int width = rows.Max(r => r.Prompt.Length + r.Completion.Length);
        var ids = new long[rows.Count * width];
        var labels = new long[rows.Count * width];
        var mask = new long[rows.Count * width];
        long tokens = 0, completionTokens = 0;
        bool padded = false;
        for (int i = 0; i < rows.Count; i++)
        {
            var (prompt, completion) = rows[i];
            int at = i * width, p = prompt.Length, n = p + completion.Length;
            for (int j = 0; j < width; j++)
            {
                long id = j < p ? prompt[j] : j < n ? completion[j - p] : padId;
                ids[at + j] = id;
                labels[at + j] = j >= p && j < n ? id : SftLoss.IgnoreIndex;
                mask[at + j] = j < n ? 1 : 0;
            }
            tokens += n;
            completionTokens += n - Math.Max(p, 1);
            padded |= n < width;
        }
        return new TrainingBatch
        {
            Ids = OnDevice(ids, rows.Count, width, device),
            Labels = OnDevice(labels, rows.Count, width, device),
            AttentionMask = padded ? OnDevice(mask, rows.Count, width, device) : null,
            Tokens = tokens,
            CompletionTokens = completionTokens,
            Examples = examples,
        };
    }

    static Tensor OnDevice(long[] values, int rows, int width, Device device)
    {
        var host = tensor(values, [rows, width]);
        if (device.type == TorchSharp.DeviceType.CPU) return host;
        using (host) return host.to(device);
    }

    public void Dispose()
    {
        Ids.Dispose();
        Labels.Dispose();
        AttentionMask?.Dispose();
        PositionIds?.Dispose();
    }
}
