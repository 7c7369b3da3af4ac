namespace Ckpt.Resilience;

/// <summary>
/// A systematic Reed-Solomon erasure code over GF(2^8): k data shards are kept as they are and m parity
/// shards are added; any k of the k+m shards rebuild all of them bit-exactly. The encoding matrix is the
/// identity stacked on an m x k Cauchy matrix 1/(x_i + y_j) with x_i = k+i and y_j = j, so every k x k
/// submatrix is invertible (every square submatrix of a Cauchy matrix is) and decoding is one Gaussian
/// elimination over the surviving rows.
/// </summary>
public sealed class ReedSolomonCode
{
    const int ChunkBytes = 16 * 1024; // keeps a chunk of every data shard in L1/L2 across the parity rows
    readonly byte[,] _matrix;

    public ReedSolomonCode(int dataShards, int parityShards)
    {
        if (dataShards < 1) throw new ArgumentOutOfRangeException(nameof(dataShards), "at least one data shard");
        if (parityShards < 0) throw new ArgumentOutOfRangeException(nameof(parityShards));
        if (dataShards + parityShards > 256) throw new ArgumentOutOfRangeException(nameof(parityShards), "GF(2^8) allows at most 256 shards");
        DataShards = dataShards;
        ParityShards = parityShards;
        _matrix = new byte[TotalShards, dataShards];
        for (int i = 0; i < dataShards; i++) _matrix[i, i] = 1;
        for (int p = 0; p < parityShards; p++)
        for (int j = 0; j < dataShards; j++)
            _matrix[dataShards + p, j] = GaloisField.Inverse((byte)((dataShards + p) ^ j));
    }

    public int DataShards { get; }
    public int ParityShards { get; }
    public int TotalShards => DataShards + ParityShards;

    /// <summary>Coefficient of data shard <paramref name="data"/> in shard <paramref name="row"/> (identity for data rows).</summary>
    public byte Coefficient(int row, int data) => _matrix[row, data];

    /// <summary>Fills shards[k..k+m) from shards[0..k). All shards have the same length.</summary>
    public void Encode(IReadOnlyList<Memory<byte>> shards)
    {
        CheckShards(shards);
        var rows = Enumerable.Range(DataShards, ParityShards).ToArray();
        var coefficients = new byte[ParityShards, DataShards];
        for (int p = 0; p < ParityShards; p++)
        for (int j = 0; j < DataShards; j++)
            coefficients[p, j] = _matrix[DataShards + p, j];
        Combine(coefficients, shards.Take(DataShards).ToArray(), rows.Select(r => shards[r]).ToArray());
    }

    public void Encode(byte[][] shards) => Encode(shards.Select(s => (Memory<byte>)s).ToArray());

    /// <summary>
    /// Rebuilds every shard whose <paramref name="present"/> flag is false, in place, from the others.
    /// Throws if fewer than k shards are present.
    /// </summary>
    public void Reconstruct(IReadOnlyList<Memory<byte>> shards, IReadOnlyList<bool> present)
    {
        CheckShards(shards);
        if (present.Count != TotalShards) throw new ArgumentException($"expected {TotalShards} presence flags", nameof(present));
        var survivors = Enumerable.Range(0, TotalShards).Where(i => present[i]).Take(DataShards).ToArray();
        if (survivors.Length < DataShards)
            throw new InvalidOperationException($"only {survivors.Length} of {TotalShards} shards survive; {DataShards} are needed");

        var missingData = Enumerable.Range(0, DataShards).Where(i => !present[i]).ToArray();
        if (missingData.Length > 0)
        {
            var sub = new byte[DataShards, DataShards];
            for (int r = 0; r < DataShards; r++)
            for (int c = 0; c < DataShards; c++)
                sub[r, c] = _matrix[survivors[r], c];
            var inverse = GaloisField.Invert(sub);
            var coefficients = new byte[missingData.Length, DataShards];
            for (int r = 0; r < missingData.Length; r++)
            for (int c = 0; c < DataShards; c++)
                coefficients[r, c] = inverse[missingData[r], c];
            Combine(coefficients, survivors.Select(i => shards[i]).ToArray(), missingData.Select(i => shards[i]).ToArray());
        }

        var missingParity = Enumerable.Range(DataShards, ParityShards).Where(i => !present[i]).ToArray();
        if (missingParity.Length > 0)
        {
            var coefficients = new byte[missingParity.Length, DataShards];
            for (int r = 0; r < missingParity.Length; r++)
            for (int c = 0; c < DataShards; c++)
                coefficients[r, c] = _matrix[missingParity[r], c];
            Combine(coefficients, shards.Take(DataShards).ToArray(), missingParity.Select(i => shards[i]).ToArray());
        }
    }

    public void Reconstruct(byte[][] shards, IReadOnlyList<bool> present) =>
        Reconstruct(shards.Select(s => (Memory<byte>)s).ToArray(), present);

    /// <summary>outputs[r] = sum_c coefficients[r,c] * inputs[c], chunk by chunk.</summary>
    static void Combine(byte[,] coefficients, Memory<byte>[] inputs, Memory<byte>[] outputs)
    {
        int length = inputs[0].Length;
        for (int start = 0; start < length; start += ChunkBytes)
        {
            int n = Math.Min(ChunkBytes, length - start);
            for (int r = 0; r < outputs.Length; r++)
            {
                var dst = outputs[r].Span.Slice(start, n);
                for (int c = 0; c < inputs.Length; c++)
                    GaloisField.MultiplyInto(coefficients[r, c], inputs[c].Span.Slice(start, n), dst, accumulate: c > 0);
            }
        }
    }

    void CheckShards(IReadOnlyList<Memory<byte>> shards)
    {
        if (shards.Count != TotalShards) throw new ArgumentException($"expected {TotalShards} shards, got {shards.Count}", nameof(shards));
        int length = shards[0].Length;
        if (shards.Any(s => s.Length != length)) throw new ArgumentException("all shards must have the same length", nameof(shards));
    }
}
