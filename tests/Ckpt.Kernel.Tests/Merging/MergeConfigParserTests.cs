using Ckpt.Errors;
using Ckpt.Merging;
using Ckpt.Tensors;

namespace Ckpt.Tests.Merging;

/// <summary>mergekit-style YAML configs become a <see cref="MergeSpec"/>; every bad key is named.</summary>
public class MergeConfigParserTests
{
    [Fact]
    public void A_mergekit_ties_config_with_the_base_listed_among_models_parses_to_a_spec()
    {
        const string yaml = """
            models:
              - model: ./base
                # no parameters necessary for base model
              - model: ./a
                parameters:
                  density: 0.53
                  weight: 0.4
              - model: ./b
                parameters:
                  density: 0.6
                  weight: 0.6
            merge_method: ties
            base_model: ./base
            parameters:
              normalize: false
              lambda: 0.9
              int8_mask: true
            dtype: bfloat16
            """;

        var spec = MergeConfigParser.Parse(yaml, "merge.yaml", "/models");

        Assert.Equal(MergeMethods.Ties, spec.Method);
        Assert.Equal("/models/base", spec.BaseModel);
        Assert.Equal([new MergeInput("/models/a", 0.4, 0.53), new MergeInput("/models/b", 0.6, 0.6)], spec.Models);
        Assert.False(spec.Normalize);
        Assert.Equal(0.9, spec.Lambda);
        Assert.Equal(DType.BF16, spec.OutputDType);
    }

    [Fact]
    public void A_slerp_config_puts_the_base_model_at_t_zero()
    {
        const string yaml = """
            merge_method: slerp
            base_model: /m/first
            models:
              - model: /m/second
              - model: /m/first
            parameters:
              t: 0.25
            """;

        var spec = MergeConfigParser.Parse(yaml);

        Assert.Equal(["/m/first", "/m/second"], spec.Models.Select(m => m.Path));
        Assert.Equal(0.25, spec.T);
        Assert.Null(spec.BaseModel);
    }

    [Fact]
    public void Global_weight_and_density_are_defaults_for_models_without_their_own()
    {
        const string yaml = """
            merge_method: dare_linear
            base_model: /m/base
            random_seed: 42
            models:
              - model: /m/a
              - model: /m/b
                parameters: {weight: 2.0, density: 0.9}
            parameters: {weight: 0.5, density: 0.3}
            """;

        var spec = MergeConfigParser.Parse(yaml);

        Assert.Equal([new MergeInput("/m/a", 0.5, null), new MergeInput("/m/b", 2.0, 0.9)], spec.Models);
        Assert.Equal(0.3, spec.Densities[0]);
        Assert.Equal(42UL, spec.Seed);
    }

    static CheckpointFormatException Fails(string yaml)
    {
        var e = Assert.Throws<CheckpointFormatException>(() => MergeConfigParser.Parse(yaml, "merge.yaml"));
        Assert.Equal(FormatErrorReason.MergeConfigInvalid, e.Reason);
        Assert.Equal("merge.yaml", e.File);
        return e;
    }

    [Fact]
    public void An_unknown_top_level_key_is_named()
    {
        var e = Fails("merge_method: linear\nmodels:\n  - model: /a\nslices: []\n");
        Assert.Contains("'slices'", e.Message);
    }

    [Fact]
    public void An_unknown_model_parameter_is_named_with_its_index()
    {
        var e = Fails("merge_method: linear\nmodels:\n  - model: /a\n  - model: /b\n    parameters:\n      wieght: 1\n");
        Assert.Contains("'models[1].parameters.wieght'", e.Message);
    }

    [Fact]
    public void A_weight_that_is_not_a_number_is_named()
    {
        var e = Fails("merge_method: linear\nmodels:\n  - model: /a\n    parameters:\n      weight: heavy\n");
        Assert.Contains("'models[0].parameters.weight'", e.Message);
        Assert.Equal("heavy", e.Found);
    }

    [Fact]
    public void A_per_tensor_filter_list_for_t_is_refused_naming_the_key()
    {
        var e = Fails("merge_method: slerp\nmodels:\n  - model: /a\n  - model: /b\nparameters:\n  t:\n    - filter: self_attn\n      value: 0.5\n");
        Assert.Contains("'parameters.t'", e.Message);
    }

    [Fact]
    public void An_unimplemented_method_is_named()
    {
        var e = Fails("merge_method: model_stock\nmodels:\n  - model: /a\n");
        Assert.Contains("'merge_method'", e.Message);
        Assert.Equal("model_stock", e.Found);
    }

    [Fact]
    public void A_missing_merge_method_is_named()
    {
        var e = Fails("models:\n  - model: /a\n");
        Assert.Contains("'merge_method'", e.Message);
    }

    [Fact]
    public void An_unknown_dtype_is_named()
    {
        var e = Fails("merge_method: linear\nmodels:\n  - model: /a\ndtype: int8\n");
        Assert.Contains("'dtype'", e.Message);
    }

    [Fact]
    public void Task_arithmetic_without_base_model_is_named()
    {
        var e = Fails("merge_method: task_arithmetic\nmodels:\n  - model: /a\n");
        Assert.Contains("'base_model'", e.Message);
    }

    [Fact]
    public void Malformed_yaml_reports_the_line()
    {
        var e = Fails("merge_method: linear\nmodels: [\n");
        Assert.Contains("line", e.Message);
    }
}
