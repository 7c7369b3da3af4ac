using System.Diagnostics;
using System.Net.Sockets;
using Ckpt.Resilience;
using Xunit.Abstractions;

namespace Ckpt.Kernel.Tests.Resilience;

/// <summary>
/// Peers as processes: k+m child processes (the bench app's `peer` mode) each hold one Reed-Solomon shard of a
/// snapshot in memory and serve it over a Unix domain socket; m of them are SIGKILLed and the snapshot is rebuilt
/// bit-exactly from what the survivors send back.
/// </summary>
public class PeerProcessTests(ITestOutputHelper output) : IDisposable
{
    const int DataShards = 4, ParityShards = 2;
    readonly TemporaryFolder _folder = new();

    [Trait("Category", "slow")]
    [Fact]
    public async Task Killing_m_of_k_plus_m_peer_processes_leaves_a_snapshot_the_survivors_rebuild_bit_exactly()
    {
        var rng = new Random(20261127);
        var snapshot = new byte[3 * 1024 * 1024 + 12345]; // not a multiple of k: the last shard is padded
        rng.NextBytes(snapshot);
        var split = PayloadSplit.For(snapshot.Length, DataShards);
        var shards = split.Split(snapshot, ParityShards);
        var code = new ReedSolomonCode(DataShards, ParityShards);
        code.Encode(shards);

        var peers = new List<(Process Process, UnixDomainSocketEndPoint Endpoint)>();
        try
        {
            for (int i = 0; i < DataShards + ParityShards; i++) peers.Add(StartPeer(i));
            foreach (var (process, _) in peers)
            {
                var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(120));
                if (ready != "listening") Assert.Fail($"peer said '{ready}': {await process.StandardError.ReadToEndAsync()}");
            }
            for (int i = 0; i < peers.Count; i++) await ShardPeer.PutAsync(peers[i].Endpoint, "step-7/shard", shards[i]);
            var killed = Enumerable.Range(0, peers.Count).OrderBy(_ => rng.Next()).Take(ParityShards).Order().ToArray();
            foreach (int i in killed)
            {
                peers[i].Process.Kill(); // SIGKILL: the shard in its memory is gone
                await peers[i].Process.WaitForExitAsync();
                Assert.Equal(137, peers[i].Process.ExitCode); // 128 + SIGKILL
            }
            var gathered = new byte[peers.Count][];
            var present = new bool[peers.Count];
            for (int i = 0; i < peers.Count; i++)
            {
                try
                {
                    gathered[i] = await ShardPeer.GetAsync(peers[i].Endpoint, "step-7/shard") ?? throw new InvalidOperationException($"peer {i} lost its shard");
                    present[i] = true;
                }
                catch (SocketException)
                {
                    gathered[i] = new byte[split.ShardLength];
                }
            }
            Assert.Equal(killed, Enumerable.Range(0, peers.Count).Where(i => !present[i]).ToArray());
            code.Reconstruct(gathered, present);
            for (int i = 0; i < peers.Count; i++) Assert.True(shards[i].AsSpan().SequenceEqual(gathered[i]), $"shard {i} differs after the rebuild");
            Assert.True(snapshot.AsSpan().SequenceEqual(split.Join(gathered)), "the rebuilt snapshot differs");
            output.WriteLine($"{snapshot.Length:N0} bytes in {peers.Count} peer processes ({split.ShardLength:N0} per shard); killed peers {string.Join(", ", killed)}; rebuilt bit-exactly");
        }
        finally
        {
            foreach (var (process, _) in peers)
            {
                if (!process.HasExited) process.Kill();
                process.Dispose();
            }
        }
    }

    (Process, UnixDomainSocketEndPoint) StartPeer(int index)
    {
        var socket = Path.Combine(_folder.Path, $"peer-{index}.sock");
        var dll = Path.Combine(AppContext.BaseDirectory, "Ckpt.Bench.Resilience.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "peer", "--socket", socket }) info.ArgumentList.Add(a);
        return (Process.Start(info)!, new UnixDomainSocketEndPoint(socket));
    }

    public void Dispose() => _folder.Dispose();
}
