using System.Collections.Generic;

namespace FineTuning.Evaluation;

/// <summary>
/// Small general-text sets for <see cref="ForgettingCheck.FromText"/>, written for this project (same licence as the
/// library). Bring text from your model's own domain when these do not fit it.
/// </summary>
public static class GeneralCorpus
{
    /// <summary>
    /// Twelve short passages of plain English in the style of children's stories, with everyday facts: general text
    /// for small story models (such as stories260K) and a rough check for larger ones.
    /// </summary>
    public static IReadOnlyList<string> SimpleEnglish { get; } = new[]
    {
        "Once upon a time, there was a little boy named Sam. He had a red kite. Every windy day, he ran to the hill and let the kite fly high in the sky.",
        "One morning, a small cat found a box in the garden. She jumped inside and fell asleep in the warm sun.",
        "Anna liked to help her dad in the kitchen. They made bread together, and the whole house smelled good.",
        "The sun rises in the east and sets in the west. At night, the moon and the stars come out.",
        "Ben and Mia went to the beach. They built a big sand castle, but a wave came and washed it away. They laughed and built another one.",
        "A dog barked at the door. It was the mailman with a letter for grandma. She was very happy to read it.",
        "Water freezes when it is very cold and turns into ice. When it gets warm again, the ice melts.",
        "Tom lost his blue ball in the park. He looked under the trees and behind the bench. At last, his friend Lily found it near the pond.",
        "In spring, the flowers open and the birds sing. In winter, the trees are bare and snow covers the ground.",
        "The little bird was scared to fly. Her mother said, \"Try once more.\" She flapped her wings and flew over the river.",
        "Every night before bed, Max brushed his teeth and read a book with his mom. His favorite book was about a brave bear.",
        "The farmer had three cows, two pigs and many chickens. Each morning he gave them food and fresh water.",
    };
}
