using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Ckpt.Resilience;

/// <summary>
/// A peer that keeps erasure-coded shards in its own memory and hands them back on request, over any stream
/// socket (a Unix domain socket between processes on one machine, TCP between nodes). Nothing touches disk:
/// when the process dies its shards die with it, which is the failure the code is there to survive.
/// Protocol, one request per message, little-endian: 'P' key value = store, answered 'K'; 'G' key = fetch,
/// answered 'K' value or 'N' when the key is unknown. A key is an i32 byte count and UTF-8; a value an i64 byte
/// count and the bytes.
/// </summary>
public sealed class ShardPeer
{
    readonly ConcurrentDictionary<string, byte[]> _shards = new(StringComparer.Ordinal);

    public int Count => _shards.Count;

    /// <summary>Accepts connections on <paramref name="listener"/> (bound and listening) until cancelled.</summary>
    public async Task ServeAsync(Socket listener, CancellationToken cancellationToken = default)
    {
        var connections = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var client = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                connections.Add(Task.Run(() => HandleAsync(client, cancellationToken), CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        await Task.WhenAll(connections).ConfigureAwait(false);
    }

    async Task HandleAsync(Socket client, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(client, ownsSocket: true);
        try
        {
            var op = new byte[1];
            while (await stream.ReadAsync(op, cancellationToken).ConfigureAwait(false) == 1)
            {
                var key = await Wire.ReadKeyAsync(stream, cancellationToken).ConfigureAwait(false);
                switch (op[0])
                {
                    case (byte)'P':
                        _shards[key] = await Wire.ReadValueAsync(stream, cancellationToken).ConfigureAwait(false);
                        await stream.WriteAsync("K"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                        break;
                    case (byte)'G' when _shards.TryGetValue(key, out var value):
                        await stream.WriteAsync("K"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                        await Wire.WriteValueAsync(stream, value, cancellationToken).ConfigureAwait(false);
                        break;
                    case (byte)'G':
                        await stream.WriteAsync("N"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                        break;
                    default:
                        return; // not our protocol: drop the connection
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException) { }
    }

    /// <summary>Stores <paramref name="value"/> under <paramref name="key"/> at the peer listening on <paramref name="endpoint"/>.</summary>
    public static async Task PutAsync(System.Net.EndPoint endpoint, string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
    {
        await using var stream = await RequestAsync(endpoint, 'P', key, cancellationToken).ConfigureAwait(false);
        await Wire.WriteValueAsync(stream, value, cancellationToken).ConfigureAwait(false);
        if (await Wire.ReadByteAsync(stream, cancellationToken).ConfigureAwait(false) != 'K')
            throw new IOException($"the peer at {endpoint} did not acknowledge {key}");
    }

    /// <summary>The value stored under <paramref name="key"/>, null when the peer does not have it; throws <see cref="SocketException"/> when the peer is gone.</summary>
    public static async Task<byte[]?> GetAsync(System.Net.EndPoint endpoint, string key, CancellationToken cancellationToken = default)
    {
        await using var stream = await RequestAsync(endpoint, 'G', key, cancellationToken).ConfigureAwait(false);
        return await Wire.ReadByteAsync(stream, cancellationToken).ConfigureAwait(false) switch
        {
            'K' => await Wire.ReadValueAsync(stream, cancellationToken).ConfigureAwait(false),
            'N' => null,
            var b => throw new IOException($"the peer at {endpoint} answered {b} for {key}"),
        };
    }

    /// <summary>A stream to the peer at <paramref name="endpoint"/> (closing it closes the socket), with the request already sent: the operation byte, then the key.</summary>
    static async Task<NetworkStream> RequestAsync(System.Net.EndPoint endpoint, char operation, string key, CancellationToken cancellationToken)
    {
        var stream = new NetworkStream(await ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false), ownsSocket: true);
        try
        {
            var request = new byte[1 + Wire.KeyBytes(key)];
            request[0] = (byte)operation;
            Wire.WriteKey(request.AsSpan(1), key);
            await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    static async Task<Socket> ConnectAsync(System.Net.EndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream,
            endpoint.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    static class Wire
    {
        public static int KeyBytes(string key) => 4 + Encoding.UTF8.GetByteCount(key);

        public static void WriteKey(Span<byte> into, string key)
        {
            int n = Encoding.UTF8.GetBytes(key, into[4..]);
            BinaryPrimitives.WriteInt32LittleEndian(into, n);
        }

        public static async Task<string> ReadKeyAsync(Stream stream, CancellationToken cancellationToken)
        {
            var length = new byte[4];
            await stream.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
            int n = BinaryPrimitives.ReadInt32LittleEndian(length);
            if (n is < 0 or > 4096) throw new IOException($"a key of {n} bytes");
            var key = new byte[n];
            await stream.ReadExactlyAsync(key, cancellationToken).ConfigureAwait(false);
            return Encoding.UTF8.GetString(key);
        }

        public static async Task WriteValueAsync(Stream stream, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
        {
            var length = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, value.Length);
            await stream.WriteAsync(length, cancellationToken).ConfigureAwait(false);
            await stream.WriteAsync(value, cancellationToken).ConfigureAwait(false);
        }

        public static async Task<byte[]> ReadValueAsync(Stream stream, CancellationToken cancellationToken)
        {
            var length = new byte[8];
            await stream.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
            long n = BinaryPrimitives.ReadInt64LittleEndian(length);
            if (n < 0 || n > Array.MaxLength) throw new IOException($"a value of {n} bytes");
            var value = GC.AllocateUninitializedArray<byte>((int)n);
            await stream.ReadExactlyAsync(value, cancellationToken).ConfigureAwait(false);
            return value;
        }

        public static async Task<int> ReadByteAsync(Stream stream, CancellationToken cancellationToken)
        {
            var b = new byte[1];
            await stream.ReadExactlyAsync(b, cancellationToken).ConfigureAwait(false);
            return b[0];
        }
    }
}
