namespace Ckpt.Resilience;

/// <summary>
/// How a byte payload of any length is cut into k equal data shards for erasure coding: each shard is
/// ceil(length/k) bytes and the tail of the last shard(s) is zero padding, dropped again on join.
/// </summary>
public sealed record PayloadSplit(long PayloadLength, int DataShards, int ShardLength)
{
    public static PayloadSplit For(long payloadLength, int dataShards)
    {
        if (dataShards < 1) throw new ArgumentOutOfRangeException(nameof(dataShards));
        long shard = (payloadLength + dataShards - 1) / dataShards;
        return new PayloadSplit(payloadLength, dataShards, checked((int)Math.Max(shard, 1)));
    }

    /// <summary>Copies data shard <paramref name="index"/> out of the payload into <paramref name="shard"/>, zero-padding the tail.</summary>
    public void Cut(ReadOnlySpan<byte> payload, int index, Span<byte> shard)
    {
        long start = (long)index * ShardLength;
        int n = (int)Math.Clamp(PayloadLength - start, 0, ShardLength);
        payload.Slice((int)Math.Min(start, PayloadLength), n).CopyTo(shard);
        shard[n..ShardLength].Clear();
    }

    /// <summary>Copies data shard <paramref name="index"/> back into its place in the payload, dropping padding.</summary>
    public void Paste(ReadOnlySpan<byte> shard, int index, Span<byte> payload)
    {
        long start = (long)index * ShardLength;
        int n = (int)Math.Clamp(PayloadLength - start, 0, ShardLength);
        shard[..n].CopyTo(payload.Slice((int)Math.Min(start, PayloadLength), n));
    }

    /// <summary>Splits a payload into k data shards plus <paramref name="parityShards"/> empty parity shards.</summary>
    public byte[][] Split(ReadOnlySpan<byte> payload, int parityShards)
    {
        var shards = new byte[DataShards + parityShards][];
        for (int i = 0; i < shards.Length; i++)
        {
            shards[i] = new byte[ShardLength];
            if (i < DataShards) Cut(payload, i, shards[i]);
        }
        return shards;
    }

    public byte[] Join(IReadOnlyList<byte[]> shards)
    {
        var payload = new byte[PayloadLength];
        for (int i = 0; i < DataShards; i++) Paste(shards[i], i, payload);
        return payload;
    }
}
