using System.Net.Sockets;
using Ckpt.Resilience;

namespace Ckpt.Bench.Resilience;

/// <summary>
/// One peer as its own process: a <see cref="ShardPeer"/> on a Unix domain socket, holding what it is sent in
/// memory until it is killed. Prints "listening" once clients may connect.
/// </summary>
public static class PeerProcess
{
    public static async Task<int> Run(string socketPath)
    {
        if (string.IsNullOrEmpty(socketPath)) { Console.Error.WriteLine("peer needs --socket PATH"); return 2; }
        if (File.Exists(socketPath)) File.Delete(socketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(16);
        Console.WriteLine("listening");
        await new ShardPeer().ServeAsync(listener);
        return 0;
    }
}
