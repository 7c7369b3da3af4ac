using Ckpt.Models;
using Ckpt.Resilience;
using Ckpt.Tests;
using TorchSharp;
using static TorchSharp.torch;

namespace Ckpt.Kernel.Tests.Resilience;

public class PipelineStagesTests
{
    static LlamaForCausalLm MicroLlama(int layers)
    {
        var config = (LlamaConfig)ModelConfig.ReadFile(TestPaths.Fixture("trajectory-llama-micro/config.json")) with { NumLayers = layers };
        var model = new LlamaForCausalLm(config, ScalarType.Float32, CPU);
        var generator = new Generator(11);
        using (no_grad())
            foreach (var p in model.parameters()) p.normal_(0, 1, generator);
        return model;
    }

    static float[] Values(Tensor p) => p.detach().contiguous().data<float>().ToArray();

    [Fact]
    public void Four_stages_own_contiguous_layers_with_the_embedding_first_and_the_norm_and_head_last()
    {
        using var model = MicroLlama(8);
        var stages = PipelineStages.Split(model, 4);
        Assert.Equal([0, 2, 4, 6], stages.Stages.Select(s => s.FirstLayer));
        Assert.All(stages.Stages, s => Assert.Equal(2, s.LayerCount));
        Assert.All(stages.Stages, s => Assert.Equal(18, s.Blocks.Count)); // 9 parameters per decoder layer
        Assert.Equal(["model.embed_tokens.weight"], stages[0].Ends.Select(e => e.Name));
        Assert.Equal(["lm_head.weight", "model.norm.weight"], stages[3].Ends.Select(e => e.Name).Order());
        Assert.Empty(stages[1].Ends);
        Assert.All(stages[2].Blocks, b => Assert.Matches(@"^model\.layers\.[45]\.", b.Name));
        // every parameter of the model in exactly one stage
        var owned = stages.Stages.SelectMany(s => s.Parameters.Select(p => p.Name)).ToList();
        Assert.Equal(model.named_parameters().Select(p => p.name).Order(), owned.Order());
    }

    [Fact]
    public void Uneven_layers_go_to_the_first_stages()
    {
        using var model = MicroLlama(6);
        Assert.Equal([2, 2, 1, 1], PipelineStages.Split(model, 4).Stages.Select(s => s.LayerCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => PipelineStages.Split(model, 7));
    }

    [Fact]
    public void A_lost_middle_stage_becomes_its_neighbours_average_weighted_by_squared_gradient_norms()
    {
        using var model = MicroLlama(4);
        var stages = PipelineStages.Split(model, 4);
        var previous = stages[0].Blocks.Select(b => Values(b.Parameter)).ToArray();
        var next = stages[2].Blocks.Select(b => Values(b.Parameter)).ToArray();
        var untouched = stages[3].Parameters.Select(p => Values(p.Parameter)).ToArray();
        stages.Lose(1);
        Assert.All(stages[1].Parameters, p => Assert.True(Values(p.Parameter).All(float.IsNaN)));

        double weight = stages.RebuildFromNeighbours(1, [3.0, 99.0, 1.0, 5.0]);
        Assert.Equal(0.75, weight, 12);
        for (int p = 0; p < previous.Length; p++)
        {
            var rebuilt = Values(stages[1].Blocks[p].Parameter);
            for (int i = 0; i < rebuilt.Length; i++) Assert.Equal(0.75f * previous[p][i] + 0.25f * next[p][i], rebuilt[i], 5);
        }
        Assert.Equal(untouched, stages[3].Parameters.Select(p => Values(p.Parameter)).ToArray());
    }

    [Fact]
    public void A_lost_edge_stage_copies_its_neighbour_and_takes_its_head_from_the_replica()
    {
        using var model = MicroLlama(4);
        var stages = PipelineStages.Split(model, 4);
        var replica = stages[3].Ends.ToDictionary(e => e.Name, e => (Tensor)e.Parameter.detach().clone());
        var neighbour = stages[2].Blocks.Select(b => Values(b.Parameter)).ToArray();
        stages.Lose(3);
        Assert.Throws<InvalidOperationException>(() => stages.RebuildFromNeighbours(3, [1.0, 1.0, 1.0, 1.0]));
        Assert.Equal(1.0, stages.RebuildFromNeighbours(3, [1.0, 1.0, 1.0, 1.0], replica));
        Assert.Equal(neighbour, stages[3].Blocks.Select(b => Values(b.Parameter)).ToArray());
        foreach (var (name, p) in stages[3].Ends) Assert.Equal(Values(replica[name]), Values(p));
    }
}
