"""Lambdas the compiler needs besides the plugins: the evaluator (values and conditions
Choice rules cannot express exactly) and the approval notifier (.waitForTaskToken)."""
