using System.Diagnostics;
using Ckpt.Resilience;

namespace Ckpt.Bench.Resilience;

/// <summary>`erasure` mode: Reed-Solomon encode and decode throughput (payload MB/s, one thread).</summary>
public static class ErasureThroughput
{
    public static object Run(int payloadMiB, (int K, int M)[] codes, int repeats)
    {
        var results = new List<object>();
        // let tiered JIT promote the loops before timing anything
        for (int i = 0; i < 200; i++)
        {
            var warm = new ReedSolomonCode(4, 2);
            var small = PayloadSplit.For(64 << 10, 4).Split(new byte[64 << 10], 2);
            warm.Encode(small);
            warm.Reconstruct(small, [false, false, true, true, true, true]);
        }
        var rng = new Random(1);
        var payload = new byte[payloadMiB << 20];
        rng.NextBytes(payload);
        foreach (var (k, m) in codes)
        {
            var code = new ReedSolomonCode(k, m);
            var split = PayloadSplit.For(payload.Length, k);
            var shards = split.Split(payload, m);
            double encode = double.MaxValue, decode = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                code.Encode(shards);
                encode = Math.Min(encode, sw.Elapsed.TotalSeconds);
            }
            // the worst case for decoding: the first m data shards are gone
            var present = Enumerable.Range(0, k + m).Select(i => i >= Math.Min(m, k)).ToArray();
            for (int r = 0; r < repeats; r++)
            {
                for (int i = 0; i < k + m; i++) if (!present[i]) Array.Clear(shards[i]);
                var sw = Stopwatch.StartNew();
                code.Reconstruct(shards, present);
                decode = Math.Min(decode, sw.Elapsed.TotalSeconds);
            }
            if (!split.Join(shards).AsSpan().SequenceEqual(payload)) throw new InvalidOperationException("decode was not bit-exact");
            double mb = payload.Length / 1e6;
            results.Add(new
            {
                k, m, payloadMB = Math.Round(mb, 1),
                lostShards = Math.Min(m, k),
                encodeMBps = Math.Round(mb / encode, 0),
                decodeMBps = Math.Round(mb / decode, 0),
                encodeSeconds = Math.Round(encode, 4),
                decodeSeconds = Math.Round(decode, 4),
            });
        }
        return new { mode = "erasure", avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported, threads = 1, results };
    }
}
