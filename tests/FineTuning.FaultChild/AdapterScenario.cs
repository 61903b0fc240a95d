using System.Linq;
using FineTuning.Lora;
using FineTuning.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace FineTuning.FaultChild;

/// <summary>The adapter that the child saves again and again; each save's weights all hold one value.</summary>
public static class AdapterScenario
{
    /// <summary>A 64-128-64 network with LoRA r = 4 on fc1 and fc2 as a modules_to_save module (about 40 kB a save).</summary>
    public static nn.Module<Tensor, Tensor> Model()
    {
        nn.Module<Tensor, Tensor> model = Plain();
        var options = new LoRAOptions { R = 4, Alpha = 8 };
        options.ModulesToSave.Add("fc2");
        new LoRAAdapter(options).Apply(model);
        return model;
    }

    /// <summary>Two linear layers in fields an adapter can replace.</summary>
    private sealed class AdapterNet : nn.Module<Tensor, Tensor>
    {
#pragma warning disable IDE1006, SA1300 // state-dict names
        private readonly nn.Module<Tensor, Tensor> fc1 = nn.Linear(64, 128);
        private readonly nn.Module<Tensor, Tensor> fc2 = nn.Linear(128, 64);
#pragma warning restore IDE1006, SA1300

        public AdapterNet()
            : base(nameof(AdapterNet)) => RegisterComponents();

        public override Tensor forward(Tensor input)
        {
            using Tensor h = fc1.call(input);
            using Tensor a = h.tanh();
            return fc2.call(a);
        }
    }

    /// <summary>The network without an adapter (the same weights every time).</summary>
    public static nn.Module<Tensor, Tensor> Plain()
    {
        var model = new AdapterNet();
        TinyModels.Initialise(model, seed: 1);
        return model;
    }

    /// <summary>The value every saved weight holds in save <paramref name="n"/>.</summary>
    public static float Value(long n) => (float)(n / 1000.0);

    /// <summary>What save <paramref name="n"/> writes as base_model_name_or_path.</summary>
    public static string Generation(long n) => $"gen-{n}";

    /// <summary>Sets the LoRA weights and fc2's parameters of <paramref name="model"/> to <see cref="Value"/>(n).</summary>
    public static void Fill(nn.Module model, long n)
    {
        using var noGrad = no_grad();
        foreach (var p in model.named_parameters().Where(p => p.name.Contains("lora_", System.StringComparison.Ordinal) || p.name.StartsWith("fc2.", System.StringComparison.Ordinal)))
            p.parameter.fill_(Value(n));
    }
}
