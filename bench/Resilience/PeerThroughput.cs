using System.Diagnostics;
using Ckpt.Resilience;

namespace Ckpt.Bench.Resilience;

/// <summary>`peers` mode: protecting N peers' snapshots in memory and rebuilding m lost peers (bit-exact check included).</summary>
public static class PeerThroughput
{
    public static object Run(int peers, int parity, int snapshotMiB)
    {
        var rng = new Random(3);
        var snapshots = Enumerable.Range(0, peers).Select(_ => { var b = new byte[snapshotMiB << 20]; rng.NextBytes(b); return b; }).ToArray();
        var originals = snapshots.Select(s => (byte[])s.Clone()).ToArray();
        var group = new PeerGroup(peers, parity);
        group.Protect(snapshots); // warm-up
        var sw = Stopwatch.StartNew();
        group.Protect(snapshots);
        double protect = sw.Elapsed.TotalSeconds;
        for (int r = 0; r < parity; r++) group.Fail(r * 2 % peers);
        sw.Restart();
        group.Recover();
        double recover = sw.Elapsed.TotalSeconds;
        for (int r = 0; r < peers; r++)
            if (!group.Peers[r].Snapshot.AsSpan().SequenceEqual(originals[r])) throw new InvalidOperationException($"peer {r} was not rebuilt bit-exactly");
        double totalMB = peers * (double)(snapshotMiB << 20) / 1e6;
        return new
        {
            mode = "peers", peers, parity, dataBlocksPerStripe = peers - parity,
            snapshotMBPerPeer = Math.Round((snapshotMiB << 20) / 1e6, 1),
            parityMBPerPeer = Math.Round(group.ParityBytesPerPeer / 1e6, 1),
            protectSeconds = Math.Round(protect, 3), protectMBps = Math.Round(totalMB / protect),
            lostPeers = parity, recoverSeconds = Math.Round(recover, 3),
            note = "one process, one thread; on nodes each peer encodes its own blocks in parallel",
        };
    }
}
