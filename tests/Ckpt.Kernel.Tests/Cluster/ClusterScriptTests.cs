using YamlDotNet.RepresentationModel;

namespace Ckpt.Tests.Cluster;

/// <summary>
/// scripts/cluster/reshard-job.yaml: no Kubernetes here, so what a cluster would reject or run wrongly is checked from
/// the manifest itself: an Indexed Job whose pods pass their completion index as --rank and its completions as --ranks,
/// and a suspended finalize Job for the same --out.
/// </summary>
public class ClusterScriptTests
{
    static YamlMappingNode[] Documents()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "scripts", "cluster", "reshard-job.yaml"))));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToArray();
    }

    static YamlNode At(YamlNode node, params string[] path) => path.Aggregate(node, (n, key) => ((YamlMappingNode)n)[key]);

    static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    static YamlMappingNode Container(YamlNode job) => (YamlMappingNode)((YamlSequenceNode)At(job, "spec", "template", "spec", "containers"))[0];

    static string Env(YamlMappingNode container, string name) =>
        ((YamlSequenceNode)container["env"]).Cast<YamlMappingNode>().Single(e => Text(e, "name") == name)["value"].ToString();

    [Fact]
    public void The_indexed_job_passes_its_completion_index_as_rank_and_its_completions_as_ranks()
    {
        var job = Documents().Single(d => Text(d, "metadata", "name") == "ckpt-reshard");
        Assert.Equal("batch/v1", Text(job, "apiVersion"));
        Assert.Equal("Indexed", Text(job, "spec", "completionMode"));
        var completions = Text(job, "spec", "completions");
        Assert.Equal(completions, Text(job, "spec", "parallelism"));
        var command = string.Join(" ", ((YamlSequenceNode)Container(job)["args"]).Select(a => a.ToString()));
        Assert.Contains("--rank \"$JOB_COMPLETION_INDEX\"", command);
        Assert.Contains($"--ranks {completions}", command);
        Assert.Contains("--out \"$OUT\"", command);
    }

    [Fact]
    public void The_finalize_job_is_suspended_and_finalizes_the_same_output()
    {
        var docs = Documents();
        var job = docs.Single(d => Text(d, "metadata", "name") == "ckpt-reshard");
        var finalize = docs.Single(d => Text(d, "metadata", "name") == "ckpt-reshard-finalize");
        Assert.Equal("true", Text(finalize, "spec", "suspend"));
        Assert.Contains("ckpt finalize \"$OUT\"", ((YamlSequenceNode)Container(finalize)["args"])[0].ToString());
        Assert.Equal(Env(Container(job), "OUT"), Env(Container(finalize), "OUT"));
    }
}
