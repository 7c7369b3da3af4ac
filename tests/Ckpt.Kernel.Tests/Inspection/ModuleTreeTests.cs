using Ckpt.Inspection;
using Ckpt.Tests;

namespace Ckpt.Tests.Inspection;

public class ModuleTreeTests
{
    [Fact]
    public void Every_module_node_holds_the_bytes_of_the_tensors_below_it()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var tree = ModuleTree.Of(ckpt.Manifest);
        foreach (var node in tree.Nodes)
        {
            var below = ckpt.Manifest.Tensors.Where(t => t.Name == node.Id || t.Name.StartsWith(node.Id + ".", StringComparison.Ordinal)).ToList();
            Assert.Equal(below.Sum(t => t.ByteCount), node.Bytes);
            Assert.Equal(below.Count, node.Tensors);
        }
        Assert.Equal(ckpt.Manifest.TensorBytes, tree.Nodes.Where(n => n.Parent == "").Sum(n => n.Bytes));
        var mlp = tree.Nodes.Single(n => n.Id == "model.layers.3.mlp");
        Assert.Equal(("mlp", "model.layers.3", "F32"), (mlp.Label, mlp.Parent, mlp.DType));
    }

    [Fact]
    public void A_node_cap_cuts_the_tree_at_a_shallower_depth_without_losing_bytes()
    {
        using var ckpt = Checkpoint.Open(TestPaths.Fixture("hf-llama-tiny-sharded"));
        var full = ModuleTree.Of(ckpt.Manifest);
        var capped = ModuleTree.Of(ckpt.Manifest, maxNodes: 12);
        Assert.True(capped.Nodes.Count <= 12);
        Assert.True(capped.Depth < full.Depth);
        Assert.Equal(ckpt.Manifest.TensorBytes, capped.Nodes.Where(n => n.Parent == "").Sum(n => n.Bytes));
        Assert.Contains(capped.Nodes, n => n.Id == "model.layers.3");
    }
}
