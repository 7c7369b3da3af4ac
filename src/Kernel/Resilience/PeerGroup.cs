namespace Ckpt.Resilience;

/// <summary>
/// In-memory redundancy across N peers (REFT): each peer keeps its own snapshot in host memory, and the
/// group adds Reed-Solomon parity so that any <see cref="ParityShards"/> peers can be lost together and
/// their snapshots rebuilt bit-exactly from the survivors' memory, with no disk involved.
/// Layout (RAID-6 style rotation, generalised): every snapshot is cut into k = N-m blocks; there are N
/// stripes; stripe s is one codeword whose m parity blocks live on peers s..s+m-1 (mod N) and whose k
/// data blocks are one block from each other peer. Every peer thus stores its own snapshot plus m parity
/// blocks, an overhead of m/k, and each stripe loses at most m blocks when m peers fail. See PEERS.md for
/// how this maps onto nodes.
/// </summary>
public sealed class PeerGroup
{
    readonly ReedSolomonCode _code;
    readonly Peer[] _peers;
    long[] _lengths = [];
    int _blockLength;

    public PeerGroup(int peers, int parityShards)
    {
        if (parityShards < 1 || peers <= parityShards)
            throw new ArgumentOutOfRangeException(nameof(parityShards), $"need 1 ≤ m < N, got N={peers}, m={parityShards}");
        PeerCount = peers;
        ParityShards = parityShards;
        _code = new ReedSolomonCode(peers - parityShards, parityShards);
        _peers = Enumerable.Range(0, peers).Select(r => new Peer(r)).ToArray();
    }

    public int PeerCount { get; }
    public int ParityShards { get; }
    public int DataBlocks => PeerCount - ParityShards;
    public IReadOnlyList<Peer> Peers => _peers;

    /// <summary>Bytes each peer holds for others (its parity blocks).</summary>
    public long ParityBytesPerPeer => (long)ParityShards * _blockLength;

    /// <summary>
    /// Gives every peer its snapshot (index = rank) and computes the parity blocks each peer keeps. On nodes
    /// this is one exchange per snapshot; here the peers are objects in one process.
    /// </summary>
    public void Protect(IReadOnlyList<byte[]> snapshots)
    {
        if (snapshots.Count != PeerCount) throw new ArgumentException($"expected {PeerCount} snapshots", nameof(snapshots));
        _lengths = snapshots.Select(s => (long)s.Length).ToArray();
        _blockLength = PayloadSplit.For(snapshots.Max(s => (long)s.Length), DataBlocks).ShardLength;
        for (int p = 0; p < PeerCount; p++) _peers[p].Hold(snapshots[p], new byte[ParityShards][]);
        for (int s = 0; s < PeerCount; s++)
        {
            var blocks = Stripe(s, out _);
            _code.Encode(blocks);
            for (int j = 0; j < ParityShards; j++) _peers[(s + j) % PeerCount].Parity[j] = blocks[DataBlocks + j];
        }
    }

    /// <summary>A peer crashes: its memory, snapshot and parity, is gone.</summary>
    public void Fail(int rank) => _peers[rank].Lose();

    /// <summary>
    /// Replacement peers for every failed rank get back their snapshot and their parity blocks, rebuilt from
    /// the survivors. Throws when more than m peers are lost.
    /// </summary>
    public void Recover()
    {
        var lost = _peers.Where(p => !p.Alive).Select(p => p.Rank).ToArray();
        if (lost.Length == 0) return;
        if (lost.Length > ParityShards)
            throw new InvalidOperationException($"{lost.Length} peers are lost; the group survives at most {ParityShards}");
        var rebuilt = lost.ToDictionary(r => r, r => (Snapshot: new byte[_lengths[r]], Parity: new byte[ParityShards][]));
        for (int s = 0; s < PeerCount; s++)
        {
            var blocks = Stripe(s, out var holders);
            var present = holders.Select(r => _peers[r].Alive).ToArray();
            _code.Reconstruct(blocks, present);
            for (int i = 0; i < holders.Length; i++)
            {
                int r = holders[i];
                if (_peers[r].Alive) continue;
                if (i < DataBlocks) SplitOf(r).Paste(blocks[i], DataBlockIndex(r, s), rebuilt[r].Snapshot);
                else rebuilt[r].Parity[i - DataBlocks] = blocks[i];
            }
        }
        foreach (var (r, state) in rebuilt) _peers[r].Hold(state.Snapshot, state.Parity);
    }

    /// <summary>The k data blocks and m parity blocks of stripe s (lost ones as zeroed buffers), and which peer holds each.</summary>
    byte[][] Stripe(int s, out int[] holders)
    {
        holders = new int[PeerCount];
        var blocks = new byte[PeerCount][];
        for (int d = 0; d < DataBlocks; d++)
        {
            int r = (s + ParityShards + d) % PeerCount;
            holders[d] = r;
            blocks[d] = new byte[_blockLength];
            if (_peers[r].Alive) SplitOf(r).Cut(_peers[r].Snapshot, DataBlockIndex(r, s), blocks[d]);
        }
        for (int j = 0; j < ParityShards; j++)
        {
            int r = (s + j) % PeerCount;
            holders[DataBlocks + j] = r;
            blocks[DataBlocks + j] = _peers[r].Alive && _peers[r].Parity[j] is { } p ? p : new byte[_blockLength];
        }
        return blocks;
    }

    // Peer r's snapshot is cut into k blocks of the group's block length; block b goes to the b-th stripe (in
    // stripe order) where r holds data, i.e. where (r - s) mod N ≥ m.
    int DataBlockIndex(int rank, int stripe)
    {
        int index = 0;
        for (int s = 0; s < stripe; s++)
            if (Mod(rank - s, PeerCount) >= ParityShards) index++;
        return index;
    }

    PayloadSplit SplitOf(int rank) => new(_lengths[rank], DataBlocks, _blockLength);

    static int Mod(int a, int n) => ((a % n) + n) % n;
}

/// <summary>One member of a <see cref="PeerGroup"/>: its own snapshot and the parity blocks it keeps for the group.</summary>
public sealed class Peer(int rank)
{
    public int Rank { get; } = rank;
    public bool Alive { get; private set; }
    public byte[] Snapshot { get; private set; } = [];
    public byte[]?[] Parity { get; private set; } = [];

    internal void Hold(byte[] snapshot, byte[]?[] parity)
    {
        Snapshot = snapshot;
        Parity = parity;
        Alive = true;
    }

    internal void Lose()
    {
        Snapshot = [];
        Parity = [];
        Alive = false;
    }
}
