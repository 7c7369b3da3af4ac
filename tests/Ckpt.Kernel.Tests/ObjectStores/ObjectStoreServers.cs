using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.S3;
using Amazon.S3.Model;
using Azure.Storage.Blobs;
using Ckpt.Storage;

namespace Ckpt.Tests.ObjectStores;

/// <summary>
/// The real object-store servers the tests talk to: s3rver (S3) and Azurite (Azure Blob), from the npm packages
/// pinned in tests/servers (installed by scripts/test.sh). Each runs as a node process on a free 127.0.0.1 port
/// with a temporary data folder, for the whole collection, and the environment variables the SDKs read point at
/// them (AWS_ENDPOINT_URL, the AWS keys, AZURE_STORAGE_CONNECTION_STRING).
/// </summary>
public sealed class ObjectStoreServers : IDisposable
{
    /// <summary>Azurite's published development account (not a secret: it is in Microsoft's documentation).</summary>
    const string AzuriteAccount = "devstoreaccount1";
    const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    readonly List<Process> _processes = [];
    readonly string _data;

    public static string Servers => Path.Combine(TestPaths.RepoRoot, "tests", "servers", "node_modules", ".bin");

    /// <summary>What this machine lacks to start the servers, or null.</summary>
    public static string? Missing { get; } = Probe();

    static string? Probe()
    {
        if (!File.Exists(Path.Combine(Servers, "s3rver")) || !File.Exists(Path.Combine(Servers, "azurite-blob")))
            return "the object-store servers are not installed (npm ci in tests/servers; scripts/test.sh does it)";
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true });
            node!.WaitForExit();
            return node.ExitCode == 0 ? null : "node does not run";
        }
        catch (System.ComponentModel.Win32Exception) { return "node is not installed"; }
    }

    public ObjectStoreServers()
    {
        if (Missing is not null) { _data = ""; return; }
        _data = TestPaths.TempDirectory("object-stores");
        int s3 = FreePort(), az = FreePort();
        Start("s3rver", "-d", Path.Combine(_data, "s3"), "-a", "127.0.0.1", "-p", s3.ToString(), "--silent", "--no-vhost-buckets");
        Start("azurite-blob", "--blobHost", "127.0.0.1", "--blobPort", az.ToString(), "--location", Path.Combine(_data, "azurite"),
            "--silent", "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl");
        S3Endpoint = $"http://127.0.0.1:{s3}";
        AzureConnection = $"DefaultEndpointsProtocol=http;AccountName={AzuriteAccount};AccountKey={AzuriteKey};BlobEndpoint=http://127.0.0.1:{az}/{AzuriteAccount};";
        Environment.SetEnvironmentVariable("AWS_ENDPOINT_URL", S3Endpoint);
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_REGION", "us-east-1");
        Environment.SetEnvironmentVariable("AZURE_STORAGE_CONNECTION_STRING", AzureConnection);
        WaitForPort(s3);
        WaitForPort(az);
    }

    public string S3Endpoint { get; } = "";
    public string AzureConnection { get; } = "";

    /// <summary>A new, empty bucket (S3) or container (Azure) with a unique name.</summary>
    public string CreateBucket(string scheme)
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..16];
        if (scheme == ObjectUrl.S3)
        {
            using var client = S3Storage.CreateClient();
            client.PutBucketAsync(new PutBucketRequest { BucketName = name }).GetAwaiter().GetResult();
        }
        else AzureBlobStorage.CreateContainerClient(new ObjectUrl(scheme, name, "")).Create();
        return name;
    }

    /// <summary>Copies every file under <paramref name="folder"/> to `scheme://bucket/prefix/…` with the bare SDK (not Ckpt's writer).</summary>
    public string UploadFolder(string scheme, string folder, string prefix = "ckpt")
    {
        var bucket = CreateBucket(scheme);
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var key = $"{prefix}/{Path.GetRelativePath(folder, file).Replace('\\', '/')}";
            if (scheme == ObjectUrl.S3)
            {
                using var client = S3Storage.CreateClient();
                client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, FilePath = file, UseChunkEncoding = false })
                    .GetAwaiter().GetResult();
            }
            else AzureBlobStorage.CreateContainerClient(new ObjectUrl(scheme, bucket, "")).GetBlobClient(key).Upload(file, overwrite: true);
        }
        return $"{scheme}://{bucket}/{prefix}";
    }

    void Start(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(Servers, tool)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        Directory.CreateDirectory(Path.Combine(_data, tool == "s3rver" ? "s3" : "azurite"));
        var p = Process.Start(info)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _processes.Add(p);
    }

    static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    void WaitForPort(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                if (_processes.FirstOrDefault(p => p.HasExited) is { } dead)
                    throw new InvalidOperationException($"an object-store server exited with {dead.ExitCode} before listening");
                Thread.Sleep(100);
            }
        }
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) { p.Kill(entireProcessTree: true); p.WaitForExit(5000); } }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        if (_data.Length > 0) try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class ObjectStoreCollection : ICollectionFixture<ObjectStoreServers>
{
    public const string Name = "object stores";
}

/// <summary>A test against the local object-store servers: skipped where they are not installed, failed under CI.</summary>
public sealed class ObjectStoreFactAttribute() : RequiredFactAttribute(ObjectStoreServers.Missing);

public sealed class ObjectStoreTheoryAttribute() : RequiredTheoryAttribute(ObjectStoreServers.Missing);
