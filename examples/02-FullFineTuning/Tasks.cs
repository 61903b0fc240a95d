using System;
using System.Collections.Generic;
using FineTuning.Training;

namespace FineTuning.Examples.FullFineTuning;

/// <summary>Synthetic 2-D classification tasks, generated from a seed.</summary>
internal static class Tasks
{
    /// <summary>Three noisy concentric rings; the class is the ring.</summary>
    public static List<LabeledVector> Rings(int count, double rotation, int seed)
    {
        var random = new Random(seed);
        var data = new List<LabeledVector>(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            double radius = 1 + label + (random.NextDouble() - 0.5) * 0.5;
            double angle = random.NextDouble() * 2 * Math.PI + rotation;
            data.Add(new LabeledVector(new[] { (float)(radius * Math.Cos(angle)), (float)(radius * Math.Sin(angle)) }, label));
        }
        return data;
    }

    /// <summary>Three interleaved spiral arms; the class is the arm.</summary>
    public static List<LabeledVector> Spirals(int count, int seed)
    {
        var random = new Random(seed);
        var data = new List<LabeledVector>(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            double t = random.NextDouble();
            double radius = 0.5 + 2.5 * t;
            double angle = label * 2 * Math.PI / 3 + 3 * t + (random.NextDouble() - 0.5) * 0.3;
            data.Add(new LabeledVector(new[] { (float)(radius * Math.Cos(angle)), (float)(radius * Math.Sin(angle)) }, label));
        }
        return data;
    }
}
