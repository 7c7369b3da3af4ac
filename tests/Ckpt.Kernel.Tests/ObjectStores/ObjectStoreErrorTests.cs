using Ckpt.Tests.Cli;

namespace Ckpt.Tests.ObjectStores;

/// <summary>What a user sees when the store cannot be reached or is not configured: one sentence, exit 2.</summary>
[Collection(ObjectStoreCollection.Name)]
public class ObjectStoreErrorTests(ObjectStoreServers servers)
{
    [ObjectStoreFact]
    public void An_unreachable_endpoint_is_retried_then_refused_in_one_sentence()
    {
        var url = servers.UploadFolder("s3", TestPaths.Fixture("dcp-fsdp2-4rank"));
        var (code, err) = WithVariable("AWS_ENDPOINT_URL", "http://127.0.0.1:9", () => CliRunner.Run("inspect", url));
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("after 5 attempts", err);
        Assert.Contains("[StorageUnavailable]", err);
    }

    [ObjectStoreFact]
    public void A_missing_azure_connection_string_is_refused_in_one_sentence()
    {
        var (code, err) = WithVariable("AZURE_STORAGE_CONNECTION_STRING", null, () => CliRunner.Run("inspect", "az://c/p"));
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("AZURE_STORAGE_CONNECTION_STRING is not set", err);
    }

    /// <summary>The fixture's environment is process-wide; the tests of this collection run one at a time.</summary>
    static (int Code, string Err) WithVariable(string name, string? value, Func<(int Code, string Out, string Err)> run)
    {
        var before = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
        try { var r = run(); return (r.Code, r.Err); }
        finally { Environment.SetEnvironmentVariable(name, before); }
    }
}
